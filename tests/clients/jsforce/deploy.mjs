// node deploy.mjs ZIPFILE '{"checkOnly": true}' : metadata.deploy, polled with details
import { readFileSync } from 'node:fs';
import { answer, connect } from './connect.mjs';

const options = JSON.parse(process.argv[3] || '{}');
answer(connect().metadata.deploy(readFileSync(process.argv[2]), options).complete(true));
