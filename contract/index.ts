/**
 * The contract between the rooms that execute a request (docs/architecture.md): the request
 * workflow's name, input, result and queries; the activities' names, inputs and outputs; the
 * streaming sink. Written once here; workflows/, activities/, worker/, client/ and the front door
 * import it. A leaf: it imports `plan/` types only (and `@temporalio/common`'s query type).
 */
export * from './workflow.js';
export * from './activities.js';
export * from './stream.js';
