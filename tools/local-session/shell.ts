// The commands a session runs (git, act, the container engine, the registry CLI) go through zx:
// arguments are quoted for us, output is captured rather than echoed, and a failure's error
// carries the command's stderr.
import { $ } from "zx";

export const sh = $({ quiet: true });
