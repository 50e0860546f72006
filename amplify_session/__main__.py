"""``python -m amplify_session``: the command line (extra ``cli``)."""

from ._cli import main

main()
