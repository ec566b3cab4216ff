# workerd configuration for running the worker locally and in the tests, without wrangler:
#   node_modules/.bin/workerd serve worker/workerd.capnp --socket-addr http=127.0.0.1:8787
# Needs the package built first (scripts/build-wasm.sh → wasm/pkg/). Module names mirror the
# repository paths, so the worker's relative imports resolve as they do for wrangler's bundler.
# Configuration comes from the environment of the workerd process (unset = default).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Outbound fetches (gate mode's ORIGIN) may reach private and local addresses.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker/src/index.js", esModule = embed "src/index.js"),
    (name = "worker/src/body.js", esModule = embed "src/body.js"),
    (name = "worker/src/config.js", esModule = embed "src/config.js"),
    (name = "worker/src/cors.js", esModule = embed "src/cors.js"),
    (name = "worker/src/errors.js", esModule = embed "src/errors.js"),
    (name = "worker/src/gate.js", esModule = embed "src/gate.js"),
    (name = "worker/src/multipart.js", esModule = embed "src/multipart.js"),
    (name = "worker/src/scan.js", esModule = embed "src/scan.js"),
    (name = "web/report.js", esModule = embed "../web/report.js"),
    (name = "wasm/index.js", esModule = embed "../wasm/index.js"),
    (name = "wasm/pkg/modelsieve_wasm.js", esModule = embed "../wasm/pkg/modelsieve_wasm.js"),
    (name = "wasm/pkg/modelsieve_wasm_bg.wasm", wasm = embed "../wasm/pkg/modelsieve_wasm_bg.wasm"),
  ],
  bindings = [
    (name = "ORIGIN", fromEnvironment = "ORIGIN"),
    (name = "FAIL_ON", fromEnvironment = "FAIL_ON"),
    (name = "MAX_BYTES", fromEnvironment = "MAX_BYTES"),
    (name = "POLICY", fromEnvironment = "POLICY"),
    (name = "SCAN_TOKEN", fromEnvironment = "SCAN_TOKEN"),
    (name = "CORS_ORIGIN", fromEnvironment = "CORS_ORIGIN"),
  ],
  compatibilityDate = "2024-09-23",
  globalOutbound = "internet",
);
