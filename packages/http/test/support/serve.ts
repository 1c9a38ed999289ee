/** A real `envkeep serve` and the real `envkeep token …`: the CLI's own test support. */
export {
  createToken,
  ensureBuilt,
  envkeep,
  type RunningServe,
  startServe,
} from "../../../cli/test/support/serve.js";
