# The Node tools' output without their own chatter, their findings kept: Redocly's boxed notices
# (Node.js 20 support ending, "build-docs now renders docs with Redoc 3"), its "Woohoo! Your API
# description is valid" and openapi-typescript's version banner. With -v blanks=1 a run of blank
# lines becomes one (a linter's findings stay apart), none first or last; with blanks=0 none is
# kept. The patterns are byte strings, so mawk and gawk read them alike. Used by the Makefile's
# lint-spec and docs targets, behind `set -o pipefail` so that the tool's exit status counts.
/║|╔|╚/ { next }
/^Woohoo! Your API description is valid/ { next }
/^✨ openapi-typescript [0-9]/ { next }
/^[[:space:]]*$/ { blank = seen && blanks; next }
{ if (blank) print ""; blank = 0; seen = 1; print; fflush() }
