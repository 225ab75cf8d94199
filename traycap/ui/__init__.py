"""The tray app's user interface: a pure menu model and one adapter per GUI library."""
