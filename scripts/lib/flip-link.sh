# Sourced by the scripts that link Cortex-M firmware (boards.sh,
# size-report.sh): .cargo/config.toml names flip-link as the linker for
# thumbv6m-none-eabi and thumbv7em-none-eabihf, so it is installed from
# crates.io when missing (a few seconds to build).
if ! command -v flip-link >/dev/null 2>&1; then
    echo "+ cargo install --locked flip-link"
    cargo install --locked flip-link
fi
