/**
 * The realization model (pure): addresses, constructs, rules, and the plan errors raised before any resource.
 */
import { describe, expect, it } from 'vitest';
import { requestedConstruct } from '../../stacks/pulumi/constructs.js';
import { buildCloudModel } from '../../stacks/pulumi/model.js';
import { thrownTcError } from '../support/tc-error.js';
import { handPlan } from './plans.js';

describe('realization model', () => {
  it('static private addresses: one /16 per cloud of the target, unique per node, skipping reserved ones', () => {
    const plan = handPlan({
      clouds: {
        a: { provider: 'aws', region: 'eu-west-1' },
        b: { provider: 'aws', region: 'us-east-1' },
        g: { provider: 'gcp', region: 'europe-west1' },
      },
      components: {
        ledger: {
          nodes: [
            { cloud: 'a', domain: 0 },
            { cloud: 'a', domain: 1 },
            { cloud: 'b', domain: 0 },
            { cloud: 'g', domain: 0 },
          ],
        },
        audit: { nodes: [{ cloud: 'a', domain: 0 }] },
      },
    });
    const m = buildCloudModel(plan, 'aws');
    expect(m.clouds.map((c) => [c.name, c.cidr, c.subnetCidr])).toEqual([
      ['a', '10.16.0.0/16', '10.16.0.0/20'],
      ['b', '10.17.0.0/16', '10.17.0.0/20'],
    ]);
    expect([...m.nodes].map(([id, n]) => [id, n.privateIp])).toEqual([
      ['ledger-replica-0', '10.16.0.10'],
      ['ledger-replica-1', '10.16.0.11'],
      ['audit-replica-0', '10.16.0.12'],
      ['ledger-replica-2', '10.17.0.10'],
    ]);
    // The GCP node is another target's: its peer rule source is `external`, and the model says so.
    const peer = m.clouds[0]!.rules.find((r) => r.component === 'ledger' && r.portName === 'peer')!;
    expect(peer.sources.map((s) => s.kind)).toEqual(['private', 'private', 'public', 'external']);
    expect(m.notes.join('\n')).toContain('nodes in g are realized by another deployment');
    // In one deployment with GCP, that node is a peer at its static public address, like one in another AWS cloud.
    const both = buildCloudModel(plan, 'aws', ['aws', 'gcp']);
    const peers = both.clouds[0]!.rules.find((r) => r.component === 'ledger' && r.portName === 'peer')!;
    expect(peers.sources.map((s) => s.kind)).toEqual(['private', 'private', 'public', 'public']);
    expect(both.notes.join('\n')).not.toContain('another deployment');
  });

  it('links from `clients` without declared CIDRs open nothing (and say so); with CIDRs, exactly those', () => {
    const nodes = [{ cloud: 'a', domain: 0 }];
    const closed = buildCloudModel(
      handPlan({ clouds: { a: { provider: 'aws', region: 'r' } }, components: { ledger: { nodes } } }),
      'aws',
    );
    expect(closed.clouds[0]!.rules.map((r) => r.portName)).toEqual(['peer']);
    expect(closed.notes[0]).toContain('reachable only from inside');
    const open = buildCloudModel(
      handPlan({
        clouds: { a: { provider: 'aws', region: 'r' } },
        components: { ledger: { nodes } },
        cidrs: ['203.0.113.0/24'],
      }),
      'aws',
    );
    expect(open.clouds[0]!.rules.find((r) => r.portName === 'client')!.sources).toEqual([
      { kind: 'cidr', cidr: '203.0.113.0/24' },
    ]);
  });

  it('plan errors: no cloud for the target (TC354), no region (TC353), a foreign construct (TC352)', () => {
    const nodes = [{ cloud: 'a', domain: 0 }];
    const e1 = thrownTcError(() =>
      buildCloudModel(
        handPlan({ clouds: { a: { provider: 'aws', region: 'r' } }, components: { ledger: { nodes } } }),
        'gcp',
      ),
    );
    expect([e1.code, e1.exit]).toEqual(['TC354', 3]);
    const e2 = thrownTcError(() =>
      buildCloudModel(handPlan({ clouds: { a: { provider: 'aws' } }, components: { ledger: { nodes } } }), 'aws'),
    );
    expect([e2.code, e2.location?.path]).toEqual(['TC353', 'clouds.a.region']);
    const e3 = thrownTcError(() => requestedConstruct('aws', 'a', 'gcp:sole-tenant-node'));
    expect(e3.code).toBe('TC352');
    expect(e3.hint).toContain('aws:partition-placement-group, aws:dedicated-host');
  });

  it('a single domain needs no construct; appliance housing always gets a dedicated machine', () => {
    const one = buildCloudModel(
      handPlan({
        clouds: { a: { provider: 'aws', region: 'r' } },
        components: {
          ledger: {
            nodes: [
              { cloud: 'a', domain: 0 },
              { cloud: 'a', domain: 0 },
            ],
          },
        },
      }),
      'aws',
    );
    expect(one.clouds[0]!.groups[0]!.construct.kind).toBe('none');
    const box = buildCloudModel(
      handPlan({
        clouds: { a: { provider: 'gcp', region: 'r' } },
        components: {
          ledger: { housing: 'appliance-box', nodes: [0, 0, 0, 0].map((domain) => ({ cloud: 'a', domain })) },
        },
      }),
      'gcp',
    );
    expect(box.clouds[0]!.groups[0]!.construct.kind).toBe('gcp:sole-tenant-node');
  });
});
