# Shared by the example scripts: `source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"`.

# need PROGRAM...: stop with a message unless every program is on PATH.
need() {
    local program
    for program in "$@"; do
        command -v "$program" > /dev/null || { echo "$0: $program is not on PATH" >&2; exit 1; }
    done
}

# exit_status COMMAND...: run COMMAND with its stderr on stdout, then print "exit status N" (not stopping).
exit_status() {
    local status=0
    "$@" 2>&1 || status=$?
    echo "exit status $status"
}

# on_exit COMMAND: run COMMAND when the script exits, before those registered earlier (like a stack).
_on_exit=()
on_exit() {
    _on_exit=("$1" "${_on_exit[@]}")
    trap 'for _command in "${_on_exit[@]}"; do eval "$_command"; done' EXIT
}

# enter_workdir [DIR]: cd into DIR (made if missing), or into a temporary directory removed on exit.
enter_workdir() {
    if [[ $# -ge 1 ]]; then
        work=$1
        mkdir -p "$work"
    else
        work=$(mktemp -d)
        on_exit 'rm -rf "$work"'
    fi
    cd "$work"
}
