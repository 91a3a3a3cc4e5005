// The workflow the NATS-down scenario rehearses: point DNS at the new Master.
import { defineWorkflow } from 'vipflow/workflows';

export default [
  defineWorkflow({
    name: 'promote',
    on: { instance: 'VI_1', to: 'MASTER' },
    steps: [
      {
        name: 'dns',
        async run(ctx) {
          await ctx.$`nsupdate-vip ${ctx.event.node} ${ctx.event.data.instance}`;
        },
      },
    ],
  }),
];
