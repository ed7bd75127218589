# Source this to use `ape` directly with the project's offline toolchain:
#   source env.sh && ape run scenario
_scf_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
export SOLCX_BINARY_PATH="$_scf_root/tools/solc"
export PATH="$_scf_root/node_modules/.bin:$_scf_root/.venv/bin:$PATH"
unset _scf_root
