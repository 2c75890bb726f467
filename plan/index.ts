/**
 * The plan room's public API: plan types, the pure evaluator (decide), the execution machine
 * (start/next) and the simulator behind `switchyard test` and `explain`. Everything here is
 * deterministic and free of Node built-ins: it runs inside Temporal's workflow sandbox.
 */
export * from './types.js';
export * from './trace.js';
export { canonicalJson } from './canonical.js';
export {
  costNanos,
  formatDollars,
  parseDollars,
  readDollars,
  NANOS_PER_DOLLAR,
  MONEY_DECIMALS,
} from './money.js';
export {
  estimateInputTokens,
  inputTokensOf,
  parseDuration,
  tryParseDuration,
  requestField,
  viewRequest,
  routingFactsOf,
  requestOfFacts,
  DEFAULT_MODE,
  DEFAULT_CLASSIFICATION,
  CHARS_PER_TOKEN,
  TOKENS_PER_MESSAGE,
} from './request.js';
export type { RequestView, RoutingFacts } from './request.js';
export {
  evalCondition,
  evalOutputCondition,
  compileCondition,
  conditionText,
  valueText,
  tokensText,
  durationText,
} from './conditions.js';
export type { OutputFacts, CompiledCondition } from './conditions.js';
export { hashId, pickWeighted } from './split.js';
export { blockRegex } from './guards.js';
export { decide, isPrivate, scopeValueOf, NO_ROUTE_MESSAGE, routeChain } from './evaluator.js';
export {
  DEFAULT_TIMEOUT_MS,
  DEFAULT_BACKOFF_MS,
  DEFAULT_RETRIES,
  resolveCall,
  backoffDelay,
  callDuration,
} from './calls.js';
export type { CallSettings, CallContext, ResolvedCall, CallDuration } from './calls.js';
export { answerWorstCost, routeCostAt, routeWorstCost, slowestPath } from './worst-case.js';
export type { RouteChain, AnswerCost, RouteCost, SlowestPath, TimedCall } from './worst-case.js';
export {
  attemptWorstCost,
  outputEstimate,
  actualCost,
  limitText,
  exceededBudgetLimit,
  exceededRateLimit,
  WINDOW_MS,
} from './governance.js';
export { windowStart, windowEnd, untilWindowReset, waitLength, WAIT_MARGIN_MS } from './windows.js';
export { start, next, classifyStatus } from './execution.js';
export { bufferedBy, bufferingOf } from './streaming.js';
export type { ExecState, Transition } from './execution.js';
export { simulate, simulateDecision, simulatedResult, SIMULATED_ANSWER_TOKENS } from './simulate.js';
export type { Simulation, SimulationGiven, SimulatedFailure, SimulatedError } from './simulate.js';
export { runTest } from './testing.js';
export type { TestOutcome, SimulatedTestCase } from './testing.js';
export type * from './effects.js';
export { driveRequest, initialStatus, messageOf, MAX_WAITS } from './driver.js';
export type { DriverEffects } from './driver.js';
export { abandonedResult, emptyDecision, endedResult, undecidedResult } from './results.js';
