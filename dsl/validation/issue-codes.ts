/**
 * Stable codes of every diagnostic the policy language reports. A code never changes meaning once
 * released: quick fixes, docs (`docs/language.md`) and tests key off it. The scheme is
 * `SY<group><n>-<what>`; groups: 00 syntax, 01 names, 02 imports, 03 block items, 04 literals,
 * 05 routes, 06 conditions, 07 providers, 08 budgets, 09 guards, 10 tests.
 */
export const IssueCodes = {
  // Syntax (lexer and parser)
  SyntaxError: 'SY001-syntax',
  InvalidToken: 'SY002-invalid-token',
  NestingTooDeep: 'SY003-nesting-too-deep',
  ReservedName: 'SY004-reserved-name',

  // Names and references
  UnknownReference: 'SY011-unknown-reference',
  DuplicateName: 'SY012-duplicate-name',
  DuplicateTest: 'SY013-duplicate-test',

  // Imports
  MissingImport: 'SY021-missing-import',
  NotAPolicyFile: 'SY022-import-not-policy',

  // Block items
  RepeatedItem: 'SY031-repeated-item',
  MissingItem: 'SY032-missing-item',

  // Literals
  InvalidMoney: 'SY041-invalid-money',
  PercentOutOfRange: 'SY042-percent-range',
  ValueOutOfRange: 'SY043-value-range',
  InvalidStatusCode: 'SY044-status-code',

  // Routes
  SplitNotHundred: 'SY051-split-sum',
  MaxTokensAboveContext: 'SY052-max-tokens-above-context',
  UnreachableRoute: 'SY053-unreachable-route',
  NoOtherwise: 'SY054-no-otherwise',
  RequireEmptiesChain: 'SY055-require-empties-chain',
  DeadlineTooShort: 'SY056-deadline-too-short',
  TargetIsPrimary: 'SY057-target-is-primary',
  MissingCapability: 'SY058-missing-capability',
  BatchRunsDirect: 'SY059-batch-runs-direct',

  // Conditions
  UnknownField: 'SY061-unknown-field',
  WrongKind: 'SY062-wrong-kind',
  InvalidOperator: 'SY063-invalid-operator',
  BareField: 'SY064-bare-field',
  OutputOutsideEscalate: 'SY065-output-outside-escalate',
  RequestFieldInEscalate: 'SY066-request-field-in-escalate',

  // Providers
  MissingModelFile: 'SY071-missing-model-file',
  MissingApiKey: 'SY072-missing-api-key',
  UnusedProviderSetting: 'SY073-unused-provider-setting',
  InvalidEndpoint: 'SY074-invalid-endpoint',
  ModelFileNotFound: 'SY075-model-file-not-found',

  // Budgets
  CostlierDowngrade: 'SY081-costlier-downgrade',

  // Guards
  GuardItemPhase: 'SY091-guard-item-phase',
  AfterExternal: 'SY092-after-external',
  SchemaNotFound: 'SY093-schema-not-found',
  SchemaNotJson: 'SY094-schema-not-json',
  InvalidRegex: 'SY095-invalid-regex',

  // Tests
  EmptyExpect: 'SY101-empty-expect',
} as const;

export type IssueCode = (typeof IssueCodes)[keyof typeof IssueCodes];

/**
 * A check of the validator itself failed on a node: a bug in Switchyard, not in the policy. Reported
 * as one error at the node, while the node's other checks still run (validator.ts). Not an
 * `IssueCode`: no policy is meant to produce it (docs/language.md §9.1).
 */
export const CHECK_FAILED = 'E-CHECK-FAILED';

export type IssueSeverity = 'error' | 'warning';

/**
 * The severity every code is reported with (docs/language.md §9 lists each: unknown or duplicate
 * names, missing imports, wrong-kind comparisons … are errors; the validator's other checks are
 * warnings).
 */
export const IssueSeverities: Record<IssueCode, IssueSeverity> = {
  [IssueCodes.SyntaxError]: 'error',
  [IssueCodes.InvalidToken]: 'error',
  [IssueCodes.NestingTooDeep]: 'error',
  [IssueCodes.ReservedName]: 'error',
  [IssueCodes.UnknownReference]: 'error',
  [IssueCodes.DuplicateName]: 'error',
  [IssueCodes.DuplicateTest]: 'warning',
  [IssueCodes.MissingImport]: 'error',
  [IssueCodes.NotAPolicyFile]: 'error',
  [IssueCodes.RepeatedItem]: 'error',
  [IssueCodes.MissingItem]: 'error',
  [IssueCodes.InvalidMoney]: 'error',
  [IssueCodes.PercentOutOfRange]: 'error',
  [IssueCodes.ValueOutOfRange]: 'error',
  [IssueCodes.InvalidStatusCode]: 'error',
  [IssueCodes.SplitNotHundred]: 'error',
  [IssueCodes.MaxTokensAboveContext]: 'error',
  [IssueCodes.UnreachableRoute]: 'warning',
  [IssueCodes.NoOtherwise]: 'warning',
  [IssueCodes.RequireEmptiesChain]: 'warning',
  [IssueCodes.DeadlineTooShort]: 'warning',
  [IssueCodes.TargetIsPrimary]: 'warning',
  [IssueCodes.MissingCapability]: 'warning',
  [IssueCodes.BatchRunsDirect]: 'warning',
  [IssueCodes.UnknownField]: 'error',
  [IssueCodes.WrongKind]: 'error',
  [IssueCodes.InvalidOperator]: 'error',
  [IssueCodes.BareField]: 'error',
  [IssueCodes.OutputOutsideEscalate]: 'error',
  [IssueCodes.RequestFieldInEscalate]: 'error',
  [IssueCodes.MissingModelFile]: 'error',
  [IssueCodes.MissingApiKey]: 'error',
  [IssueCodes.UnusedProviderSetting]: 'warning',
  [IssueCodes.InvalidEndpoint]: 'error',
  [IssueCodes.ModelFileNotFound]: 'warning',
  [IssueCodes.CostlierDowngrade]: 'warning',
  [IssueCodes.GuardItemPhase]: 'error',
  [IssueCodes.AfterExternal]: 'error',
  [IssueCodes.SchemaNotFound]: 'error',
  [IssueCodes.SchemaNotJson]: 'error',
  [IssueCodes.InvalidRegex]: 'error',
  [IssueCodes.EmptyExpect]: 'error',
};
