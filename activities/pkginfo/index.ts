/** Selects the package-info driver named by `pkginfo_driver`. */
import type { DlrnConfig } from '../../lib/config/index.ts';
import { createDownstreamDriver } from './downstream.ts';
import { createGitrepoDriver } from './gitrepo.ts';
import { createLocalDriver } from './local.ts';
import { createRdoinfoDriver } from './rdoinfo.ts';
import type { PkginfoDriver } from './types.ts';

export type { DriverRun } from './types.ts';

export const createPkginfoDriver = (config: DlrnConfig): PkginfoDriver => {
  const { pkginfo } = config;
  switch (pkginfo.name) {
    case 'rdoinfo':
      return createRdoinfoDriver(config, pkginfo.options);
    case 'downstream':
      return createDownstreamDriver(config, pkginfo.options);
    case 'gitrepo':
      return createGitrepoDriver(config, pkginfo.options);
    case 'local':
      return createLocalDriver(config);
  }
};
