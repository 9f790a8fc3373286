/** Every lint rule rls-audit runs, in report order. One rule per file in this folder. */
import type { AuditRule } from '../model.js';
import { rlsDisabledExposed } from './rls-disabled-exposed.js';
import { rlsDisabledReachable } from './rls-disabled-reachable.js';
import { policyExistsRlsDisabled } from './policy-exists-rls-disabled.js';
import { rlsEnabledNoPolicy } from './rls-enabled-no-policy.js';
import { rlsNotForced } from './rls-not-forced.js';
import { policyAlwaysTrue } from './policy-always-true.js';
import { updateCheckWeaker } from './update-check-weaker.js';
import { perRowCall } from './per-row-call.js';
import { userMetadata } from './user-metadata.js';
import { viewBypassesRls } from './view-bypasses-rls.js';
import { materializedViewExposed } from './materialized-view-exposed.js';
import { securityDefinerExposed } from './security-definer-exposed.js';
import { functionSearchPath } from './function-search-path.js';
import { anonWriteGrant } from './anon-write-grant.js';
import { privilegedRole } from './privileged-role.js';
import { policyColumnUnindexed } from './policy-column-unindexed.js';
import { multiplePermissive } from './multiple-permissive.js';
import { policyHelperCost } from './policy-helper-cost.js';

export const RULES: readonly AuditRule[] = [
  rlsDisabledExposed,
  rlsDisabledReachable,
  policyExistsRlsDisabled,
  rlsEnabledNoPolicy,
  rlsNotForced,
  policyAlwaysTrue,
  updateCheckWeaker,
  perRowCall,
  userMetadata,
  viewBypassesRls,
  materializedViewExposed,
  securityDefinerExposed,
  functionSearchPath,
  anonWriteGrant,
  privilegedRole,
  policyColumnUnindexed,
  multiplePermissive,
  policyHelperCost,
];
