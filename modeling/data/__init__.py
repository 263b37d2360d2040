"""What the models read: an export folder (videos, reasons, splits) and its face frames."""
