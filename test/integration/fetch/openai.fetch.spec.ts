import { openaiDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(openaiDriver);
