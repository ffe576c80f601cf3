import { HttpError } from "../git-repo.ts";
import { causeOf, type Hub, type Route, str } from "../hub.ts";

// Actions and repository settings that GitHub's REST API exposes: dispatching workflows, check
// runs on a commit, and the settings the rules depend on (workflow permissions, "Allow GitHub
// Actions to create and approve pull requests", immutable releases).

export function actionRoutes(hub: Hub): Route[] {
  const { git, state } = hub;
  return [
    {
      method: "POST",
      path: "/actions/workflows/:workflow/dispatches",
      permission: "actions:write",
      async handler({ params, body, principal }) {
        const ref = str(body, "ref");
        if (!ref) throw new HttpError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.');
        const inputs = (body.inputs ?? {}) as Record<string, unknown>;
        await hub.triggers.workflowDispatch(params.workflow, ref, inputs, causeOf(principal));
        return { status: 204 };
      },
    },
    {
      method: "POST",
      path: "/dispatches",
      permission: "contents:write",
      async handler({ body, principal }) {
        const eventType = str(body, "event_type");
        if (!eventType) {
          throw new HttpError(422, 'Invalid request.\n\nNo subschema in "anyOf" matched.');
        }
        await hub.triggers.repositoryDispatch(eventType, body.client_payload, causeOf(principal));
        return { status: 204 };
      },
    },
    {
      method: "GET",
      path: "/commits/:ref/check-runs",
      permission: "checks:read",
      async handler({ params, url }) {
        const sha = await git.revParse(`${params.ref}^{commit}`);
        if (!sha) throw new HttpError(404, "Not Found");
        const name = url.searchParams.get("check_name");
        const runs = hub.triggers.checkRunsFor(sha).filter((run) => !name || run.name === name);
        return { status: 200, body: { total_count: runs.length, check_runs: runs } };
      },
    },
    {
      method: "GET",
      path: "/actions/permissions/workflow",
      permission: "administration:read",
      handler: async () => ({
        status: 200,
        body: {
          default_workflow_permissions: state.settings.defaultWorkflowPermissions,
          can_approve_pull_request_reviews: state.settings.actionsCanCreatePullRequests,
        },
      }),
    },
    {
      method: "PUT",
      path: "/actions/permissions/workflow",
      permission: "administration:write",
      async handler({ body }) {
        const level = body.default_workflow_permissions;
        if (level !== undefined && level !== "read" && level !== "write") {
          throw new HttpError(
            422,
            `Invalid request.\n\n"${String(level)}" is not a member of enum.`,
          );
        }
        if (level) state.settings.defaultWorkflowPermissions = level;
        if (typeof body.can_approve_pull_request_reviews === "boolean") {
          state.settings.actionsCanCreatePullRequests = body.can_approve_pull_request_reviews;
        }
        return { status: 204 };
      },
    },
    {
      method: "GET",
      path: "/immutable-releases",
      permission: "administration:read",
      async handler() {
        if (!state.settings.immutableReleases) throw new HttpError(404, "Not Found");
        return { status: 200, body: { enabled: true, enforced_by_owner: false } };
      },
    },
    {
      method: "PUT",
      path: "/immutable-releases",
      permission: "administration:write",
      async handler() {
        state.settings.immutableReleases = true;
        return { status: 204 };
      },
    },
    {
      method: "DELETE",
      path: "/immutable-releases",
      permission: "administration:write",
      async handler() {
        state.settings.immutableReleases = false;
        return { status: 204 };
      },
    },
  ];
}
