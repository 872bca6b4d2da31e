"""One module per ``tflbench`` sub-command: NAME, HELP, add_arguments(parser), main(args)."""
