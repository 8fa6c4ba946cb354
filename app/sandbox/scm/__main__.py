"""`python -m app.sandbox.scm --port N`: run the SCM simulator in the foreground."""

import argparse

from app.sandbox.scm.server import add_arguments, config_from_args, serve

parser = argparse.ArgumentParser(prog="python -m app.sandbox.scm", description=__doc__)
add_arguments(parser)
args = parser.parse_args()
serve(args.host, args.port, config_from_args(args))
