// Structured logs: one JSON object per line, info to stdout and problems to stderr.

export type LogLevel = "info" | "warn" | "error";
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** Writes one JSON line per entry. */
export const jsonLogger: Logger = (level, message, fields = {}) => {
  const line = `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`;
  (level === "info" ? process.stdout : process.stderr).write(line);
};

/** Drops every entry (tests that only look at HTTP answers). */
export const silentLogger: Logger = () => {};
