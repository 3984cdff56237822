export * from './errors.ts';
export * from './temporal-names.ts';
