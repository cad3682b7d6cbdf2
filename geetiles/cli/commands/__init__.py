"""One module per ``geet`` command. Each defines ``add_parser(commands)`` (its sub-parser, options and
help, with ``handler=run``) and ``run(args, argv)``: a thin translation of the options onto the stages
(Hydra overrides, composed and run as ``python -m geetiles`` would) or onto a tool."""
