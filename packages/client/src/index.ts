export { createRobianClient, type RobianClient, type RobianClientOptions, type RobianApi, type RobianPaths } from './client.ts';
export { ListenerSession, SessionEndedError, memoryTokenStore, type ListenerTokens, type TokenStore } from './session.ts';
export { connectEvents, subscribe, watchExtraction, type ExtractionState, type RobianMessage } from './events.ts';
export type { components, operations } from './generated/openapi.ts';
