import type { ExportingFactory } from '../main.ts';

// Placeholder until the OTel pipeline is wired (replaced in the integration commit).
export const createExporting: ExportingFactory | undefined = undefined;
