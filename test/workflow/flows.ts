/** Definitions the workflow tests share: a loop, a Map and a Parallel around HTTP Tasks, and a pure echo. */
export function loopMapParallel(endpoint: string) {
  return {
    Comment: 'a Wait, a loop of 3 calls, a Map of calls over the items, and two parallel branches',
    StartAt: 'Init',
    States: {
      Init: { Type: 'Pass', Parameters: { 'items.$': '$.items', 'nap.$': '$.nap', i: 0 }, Next: 'Nap' },
      // A timer: its end is an ordered tick, fired at the agreed time on every engine.
      Nap: { Type: 'Wait', SecondsPath: '$.nap', Next: 'Loop' },
      Loop: {
        Type: 'Task',
        Resource: 'arn:aws:states:::http:invoke',
        Parameters: {
          ApiEndpoint: endpoint,
          Method: 'POST',
          'RequestBody.$': "States.Format('loop {}', $.i)",
        },
        ResultSelector: { 'status.$': '$.StatusCode' },
        ResultPath: '$.last',
        Retry: [{ ErrorEquals: ['States.Http.StatusCode.503'], IntervalSeconds: 1, MaxAttempts: 2 }],
        Next: 'Count',
      },
      Count: {
        Type: 'Pass',
        Parameters: { 'items.$': '$.items', 'nap.$': '$.nap', 'i.$': 'States.MathAdd($.i, 1)' },
        Next: 'More',
      },
      More: {
        Type: 'Choice',
        Choices: [{ Variable: '$.i', NumericLessThan: 3, Next: 'Loop' }],
        Default: 'Fan',
      },
      Fan: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemSelector: { 'item.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
        ItemProcessor: {
          StartAt: 'Call',
          States: {
            Call: {
              Type: 'Task',
              Resource: 'arn:aws:states:::http:invoke',
              Parameters: { ApiEndpoint: endpoint, Method: 'POST', 'RequestBody.$': '$' },
              OutputPath: '$.ResponseBody',
              End: true,
            },
          },
        },
        ResultPath: '$.mapped',
        Next: 'Both',
      },
      Both: {
        Type: 'Parallel',
        Branches: [
          {
            StartAt: 'A',
            States: {
              A: {
                Type: 'Task',
                Resource: 'arn:aws:states:::http:invoke',
                Parameters: { ApiEndpoint: endpoint, Method: 'POST', RequestBody: { branch: 'a' } },
                OutputPath: '$.ResponseBody',
                End: true,
              },
            },
          },
          { StartAt: 'B', States: { B: { Type: 'Pass', Result: { branch: 'b' }, End: true } } },
        ],
        ResultPath: '$.both',
        Next: 'Done',
      },
      Done: { Type: 'Succeed', OutputPath: '$' },
    },
  };
}

/** The seed's first scenario: an echo done inside the workflow, no call. */
export const ECHO = {
  StartAt: 'Echo',
  States: { Echo: { Type: 'Pass', End: true } },
};

/** The seed's second scenario: a workflow that calls an echo web service. */
export function callEcho(endpoint: string) {
  return {
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: 'arn:aws:states:::http:invoke',
        Parameters: { ApiEndpoint: endpoint, Method: 'POST', 'RequestBody.$': '$' },
        OutputPath: '$.ResponseBody',
        End: true,
      },
    },
  };
}
