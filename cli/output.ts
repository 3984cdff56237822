/**
 * Output for people: progress, summaries and error messages. Logs go to stderr through the
 * logger; this is the only module that writes to the terminal directly.
 */
export const say = (line: string): void => {
  console.log(line);
};

export const warn = (line: string): void => {
  console.error(line);
};
