/**
 * Where a deployed storage component's S3 API is, and how to point the AWS CLI and SDKs at it (printed by
 * `tclouds outputs` and `tclouds storage credentials create`).
 */
import type { DeploymentOutputs } from '../../../runtime/node-spec.js';
import { GATEWAY_REGION } from './buckets.js';

/** http://host:port of each gateway of `component` (empty when it has none: client-resident or native mode). */
export function s3Endpoints(outputs: DeploymentOutputs, component: string): string[] {
  const c = outputs.components[component];
  if (c?.kind !== 'storage') return [];
  return c.nodes
    .filter((n) => n.role === 'gateway' && n.ports.http !== undefined)
    .map((n) => `http://${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.ports.http}`);
}

/** Lines telling how to configure the AWS CLI and the SDKs for `endpoint` (no secret in them). */
export function clientSetup(component: string, endpoint: string, accessKeyId = '<access key id>'): string[] {
  return [
    `S3 endpoint ${endpoint} (path-style, region ${GATEWAY_REGION}); buckets: ${component} (all objects), ${component}.<name> (objects under <name>/)`,
    `  keys:     tclouds storage credentials create ${component} [--bucket B] [--read-only]   (the secret is shown once)`,
    `  AWS CLI:  AWS_ACCESS_KEY_ID=${accessKeyId} AWS_SECRET_ACCESS_KEY=<secret> AWS_DEFAULT_REGION=${GATEWAY_REGION} \\`,
    `              aws --endpoint-url ${endpoint} s3 ls s3://${component}/`,
    `  SDK (JS): new S3Client({ endpoint: '${endpoint}', region: '${GATEWAY_REGION}', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } })`,
    `  boto3:    boto3.client('s3', endpoint_url='${endpoint}', config=Config(s3={'addressing_style': 'path'}))`,
  ];
}
