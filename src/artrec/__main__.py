"""``python -m artrec`` runs the artrec command-line tool."""

from artrec.commands import main

if __name__ == "__main__":
    main()
