"""What a card says: the seller-independent content of one material."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CardContent:
    title: str
    copy: str
    price_cents: int
    original_price_cents: int | None = None
    brand: str = ""
    author: str = ""  # a seller's try-out post: credited on the card ("作者 …")

    @property
    def shows_original_price(self) -> bool:
        # A struck-through "original" price at or below the price would be nonsense.
        return (
            self.original_price_cents is not None and self.original_price_cents > self.price_cents
        )


def format_price(cents: int) -> str:
    """¥ and two decimals, from integer cents (never floats): 8900 -> "¥89.00"."""
    if cents < 0:
        raise ValueError(f"negative price: {cents} cents")
    return f"¥{cents // 100}.{cents % 100:02d}"
