# Shared by the example scripts: `source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"`.

# need PROGRAM...: stop with a message unless every program is on PATH.
need() {
    local program
    for program in "$@"; do
        command -v "$program" > /dev/null || { echo "$0: $program is not on PATH" >&2; exit 1; }
    done
}

# enter_workdir [DIR]: cd into DIR (made if missing), or into a temporary directory removed on exit.
enter_workdir() {
    if [[ $# -ge 1 ]]; then
        work=$1
        mkdir -p "$work"
    else
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
    fi
    cd "$work"
}
