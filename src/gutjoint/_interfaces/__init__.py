"""How people and programs reach the model: command line, figures, files."""
