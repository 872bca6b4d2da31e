"""Reference Keras models: built-in training recipes and loaders for users' model files."""
