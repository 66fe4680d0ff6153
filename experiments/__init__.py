"""Running many models: run(), outputs, figures and the CLI."""
