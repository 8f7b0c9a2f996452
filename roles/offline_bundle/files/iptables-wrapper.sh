#!/bin/sh
# iptables-wrapper (gitops-platform offline bundle): runs the iptables backend the node itself uses.
#
# kube-proxy runs in the node's network namespace. Debian ships two iptables backends, nf_tables and
# legacy; rules written through one are invisible to the other, so kube-proxy must use the node's.
# Installed as iptables, iptables-save, iptables-restore and their ip6tables twins, it chooses the
# backend and runs the requested command through /usr/sbin/xtables-<backend>-multi:
#   1. the backend holding the kubelet's marker chains (KUBE-IPTABLES-HINT, KUBE-KUBELET-CANARY)
#      in the mangle table;
#   2. otherwise the backend that holds more rules;
#   3. otherwise nft, Debian's default.
# A choice made from evidence (1 or 2) is remembered in $IPTABLES_WRAPPER_STATE; a default is not.
# Run as `iptables-wrapper` it prints the backend it would use.
set -eu

state=${IPTABLES_WRAPPER_STATE:-/run/iptables-wrapper.mode}
command=$(basename "$0")

# count_lines BACKEND PATTERN [TABLE]: lines matching PATTERN in both address families' rule sets.
count_lines() {
    table_args=""
    if [ -n "${3:-}" ]; then
        table_args="-t $3"
    fi
    # shellcheck disable=SC2086
    {
        "/usr/sbin/xtables-$1-multi" iptables-save $table_args 2>/dev/null || true
        "/usr/sbin/xtables-$1-multi" ip6tables-save $table_args 2>/dev/null || true
    } | grep -c -E -e "$2" || true
}

choose_backend() {
    for backend in nft legacy; do
        if [ "$(count_lines "$backend" '^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) ' mangle)" -gt 0 ]; then
            echo "$backend evidence"
            return
        fi
    done
    nft_rules=$(count_lines nft '^-')
    legacy_rules=$(count_lines legacy '^-')
    if [ "$legacy_rules" -gt "$nft_rules" ]; then
        echo "legacy evidence"
    elif [ "$nft_rules" -gt 0 ]; then
        echo "nft evidence"
    else
        echo "nft default"
    fi
}

backend=""
if [ -r "$state" ]; then
    backend=$(cat "$state")
fi
case "$backend" in
    nft | legacy) ;;
    *)
        choice=$(choose_backend)
        backend=${choice% *}
        if [ "${choice#* }" = evidence ]; then
            echo "$backend" > "$state" 2>/dev/null || true
        fi
        ;;
esac

case "$command" in
    iptables | iptables-save | iptables-restore | ip6tables | ip6tables-save | ip6tables-restore)
        exec "/usr/sbin/xtables-$backend-multi" "$command" "$@"
        ;;
    *)
        echo "$backend"
        ;;
esac
