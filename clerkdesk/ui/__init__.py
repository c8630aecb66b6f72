"""PySide6 windows, dialogs and Qt models. No SQL, no business rules: it calls services."""
