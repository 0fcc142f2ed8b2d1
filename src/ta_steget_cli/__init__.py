"""tasteget: keeps the Ta steget cooperation's shared SuperOffice register honest."""

__version__ = "0.1.0"

KOMMUNER: tuple[str, ...] = (
    "Berg",
    "Bräcke",
    "Härjedalen",
    "Krokom",
    "Ragunda",
    "Strömsund",
    "Åre",
    "Östersund",
)
