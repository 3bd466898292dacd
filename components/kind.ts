/**
 * What every component kind gives the rest of tclouds, in one shape: how it is planned, how its nodes are
 * configured and run, what the status dashboard shows of it and what chaos can do to it. `components/kinds.ts`
 * lists one of these per kind; nothing else in tclouds switches on a kind name or imports a kind's folder by a
 * computed path.
 */
import type { z } from 'zod';
import type { RoleFactory } from '../runtime/role.js';
import type { Component, ComponentKind } from '../topology/schema.js';
import type { ComponentPlan, ComponentPlanInput } from './plan-types.js';

export type KindPlanInput<K extends ComponentKind> = ComponentPlanInput & {
  component: Extract<Component, { kind: K }>;
  /** Stack name (bucket names derive from it). */
  stack: string;
};

/** Figures all up nodes of a component report and status shows once (SMR: the leader they agree on). */
export interface Agreement {
  leader: number | null;
  regency: number | null;
  lastDecided: number | null;
}

/** What the status dashboard shows of a component of this kind. Pure: tests feed it recorded /health fields. */
export interface KindStatus {
  /** What the quorum counts: the component's nodes, or its clouds (storage). */
  unit: 'node' | 'cloud';
  /** n, f and the quorum size, from the component's client configuration and how many units it has. */
  quorum(client: Readonly<Record<string, unknown>>, units: number): { n: number; f: number; quorum: number };
  /** The one figure that matters for an up node, from the role fields of its /health. */
  keyMetric(role: Readonly<Record<string, unknown>>): string;
  /** Component-wide figures from the role fields of its up nodes. */
  agreement(roles: readonly Readonly<Record<string, unknown>>[]): Agreement;
  /**
   * Kinds whose data units live in buckets (storage): how many clouds must hold an object for a read (DepSky-A: 1,
   * DepSky-CA: f+1). With it, status compares the bucket listings and counts objects with fewer than this plus f
   * copies as at risk, and a cloud that lacks objects as degraded.
   */
  copiesNeeded?(client: Readonly<Record<string, unknown>>): number;
  /** The role whose node index `agreement().leader` names. */
  leaderRole?: string;
  /**
   * The roles the quorum counts (default: every node). A component whose replicas sit beside helpers (the log's
   * core and its console, MapReduce's workers and its tracker) counts its replicas only; the others are listed.
   */
  quorumRoles?: readonly string[];
  /**
   * Roles the component cannot work without at all, whatever its quorum (MapReduce's job tracker, a trusted single
   * point): one of their nodes down or misbehaving is reported as lost.
   */
  requiredRoles?: readonly string[];
}

/** What chaos can do to a component of this kind besides kill, pause and partition, which apply to every node. */
export interface KindChaos {
  /** Misbehaviour modes its nodes can be switched into (POST /admin/fault); empty when it has none. */
  faultModes: readonly string[];
  /** Its data lives as data units in cloud buckets, whose copies `chaos corrupt` may damage. */
  corruptibleBuckets: boolean;
}

export interface KindModule<K extends ComponentKind = ComponentKind> {
  kind: K;
  plan(input: KindPlanInput<K>): ComponentPlan;
  /** Node configuration schema per role: plan() writes its input type, the role parses it at start. */
  configs: Readonly<Record<string, z.ZodType>>;
  /** The node software of its roles, loaded on demand; absent while this release has none. */
  roles?: () => Promise<Readonly<Record<string, RoleFactory>>>;
  status: KindStatus;
  chaos: KindChaos;
}
