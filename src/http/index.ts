// What code outside the HTTP layer (the demo) may use of it; everything else in http/ is
// internal and wired by the composition root.
export { InnerGate, isLoopbackPeer } from './auth.js';
export { refuse } from './envelope.js';
export { assertSessionIds } from './routes/validate.js';
export { bodies } from './schemas.js';
export { answers } from './response-schemas.js';
export type { RouteDocs } from './openapi.js';
