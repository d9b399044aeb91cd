// node list.mjs TYPE... : metadata.list of up to three types
import { answer, connect } from './connect.mjs';

const types = process.argv.slice(2).map((type) => ({ type }));
answer(connect().metadata.list(types, '61.0'));
