/**
 * CreatorOS attribution policies (issue 9.2), created by migration
 * 20261130120000_same-tenant-references. A foreign key checks that a mind exists, not whose it is:
 * tenant A could name tenant B's mind as the persona of a project or as the author of a content.
 * These RESTRICTIVE policies check only new and changed rows (WITH CHECK, no USING: reads are
 * unchanged) and are ANDed with the tenant policies of policies/creatoros.ts. Which minds may be
 * named is stated there, beside PERSONA_MINDS.
 */
import type { PolicyDefinition } from 'dbkit/migrate';
import { CURRENT_MIND, PERSONA_MINDS, namesOwnOrPersonaMind } from './creatoros.ts';

export const policies: readonly PolicyDefinition[] = [
  {
    name: 'content_projects_persona_attributable',
    table: 'public.content_projects',
    command: 'ALL',
    permissive: false,
    roles: ['authenticated'],
    using: null,
    withCheck: `persona_mind_id IS NULL OR ${namesOwnOrPersonaMind('persona_mind_id')}`,
    why: "a project's persona is the user's own mind or a persona mind (no owner), never another user's mind",
  },
  {
    name: 'content_minds_attributable',
    table: 'public.content_minds',
    command: 'ALL',
    permissive: false,
    roles: ['authenticated'],
    using: null,
    withCheck: `mind_id = ${CURRENT_MIND} OR (role <> 'creator' AND mind_id = ANY ${PERSONA_MINDS})`,
    why: "a content's creator is the user's own mind; its persona or author the user's own mind or a persona mind, never another user's mind",
  },
];
