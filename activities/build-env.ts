/**
 * The environment of a tool DLRN runs with `env [--build-env items...] tool`: ours, plus the
 * `VAR=VALUE` items of `--build-env`, plus any fixed variables of the caller.
 */
export const withBuildEnv = (
  items: readonly string[],
  extra: Record<string, string> = {},
): Record<string, string> => {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...extra };
  for (const item of items) {
    const at = item.indexOf('=');
    if (at > 0) env[item.slice(0, at)] = item.slice(at + 1);
  }
  return env;
};
