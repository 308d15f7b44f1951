"""Partner Hub: publish campaign materials to trusted partners and learn how far they reached."""

__version__ = "0.1.0"
