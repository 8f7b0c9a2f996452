#!/bin/sh
# Entrypoint of the locally built redis image for Argo CD.
# - Arguments that begin with "-" (or a *.conf file) are options for redis-server: Argo CD's manifest gives
#   only `args` (--save "" --appendonly no --requirepass ...), no command.
# - Inside a container the network is the boundary, so protected mode is off unless the arguments set it;
#   it only matters without a password, and Argo CD always sets one.
set -eu

case "${1:-redis-server}" in
    -* | *.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ] || [ "${1:-}" = /usr/bin/redis-server ]; then
    case " $* " in
        *protected-mode*) ;;
        *) set -- "$@" --protected-mode no ;;
    esac
fi

exec "$@"
