import { warn } from './output.ts';
import { EXIT_FAILURE } from './errors.ts';

/** Said by commands whose DLRN flags are parsed but whose work lands with a later issue. */
export const notImplementedYet = (command: string, issue: number): number => {
  warn(`${command}: not implemented yet in this version (issue ${issue}).`);
  return EXIT_FAILURE;
};
