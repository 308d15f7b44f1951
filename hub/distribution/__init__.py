"""Distribution: a published campaign reaches every addressed contact on their channels."""
