// An action's contract in one place: its inputs (settings, read by readInputs), outputs, the
// permissions its job needs and an example step. actions/docs.ts writes each action's action.yml
// and README.md from it, and a test fails when the committed files differ.
import type { SettingSpec } from "../../lib/cli/settings.ts";

export interface ActionSpec<I extends SettingSpec = SettingSpec> {
  /** The folder under actions/, e.g. `ingest`. */
  id: string;
  name: string;
  description: string;
  inputs: I;
  /** Inputs whose action.yml default is a workflow expression, e.g. `${{ github.token }}`. */
  expressionDefaults?: Partial<Record<keyof I & string, string>>;
  outputs: Record<string, string>;
  /** The job's `permissions:` this action needs, with why; empty when it needs none. */
  permissions: Record<string, string>;
  /** An example step (YAML, without the leading `- `). */
  example: string;
}
