export const ROOT: string;
export const COMPILED_DIRS: string[];
export function sourceDigest(dirs: string[], extra?: string[]): string;
export function compiledDigest(): string;
export function launch(entry: string): Promise<void>;
