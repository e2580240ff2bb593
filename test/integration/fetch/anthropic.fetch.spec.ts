import { anthropicDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(anthropicDriver);
