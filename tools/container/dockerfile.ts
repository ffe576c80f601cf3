// Reads deploy/Dockerfile's instructions, so the tests, the compose file's and the Kubernetes
// base's checks and the local base image all take the port, user and base from the one file.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const DOCKERFILE = fileURLToPath(new URL("../../deploy/Dockerfile", import.meta.url));

export interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, line continuations joined and comments dropped. */
export function instructions(text: string): Instruction[] {
  return text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

export interface ImageFacts {
  /** The NODE_IMAGE build argument's default: the official base. */
  nodeImage: string;
  /** The final stage's ENV PORT. */
  port: number;
  /** The final stage's USER, e.g. 1000:1000. */
  user: string;
}

/** The values other files must agree with, read from `text` (default: deploy/Dockerfile). */
export function imageFacts(text = readFileSync(DOCKERFILE, "utf8")): ImageFacts {
  const steps = instructions(text);
  const nodeImage = steps
    .filter((step) => step.keyword === "ARG")
    .map((step) => step.args.match(/^NODE_IMAGE=(\S+)$/)?.[1])
    .find(Boolean);
  const port = steps
    .filter((step) => step.keyword === "ENV")
    .map((step) => step.args.match(/\bPORT=(\d+)/)?.[1])
    .find(Boolean);
  const user = steps.filter((step) => step.keyword === "USER").at(-1)?.args;
  if (!nodeImage || !port || !user) {
    throw new Error(
      `deploy/Dockerfile: expected ARG NODE_IMAGE=<image>, ENV PORT=<n> and USER; found ${JSON.stringify({ nodeImage, port, user })}`,
    );
  }
  return { nodeImage, port: Number(port), user };
}
